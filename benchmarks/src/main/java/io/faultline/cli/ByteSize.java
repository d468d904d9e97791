package io.faultline.cli;

import java.util.Locale;

/** Parses and prints byte sizes written as {@code 512k}, {@code 64m}, {@code 1g} or plain bytes. */
public final class ByteSize {
    private ByteSize() {
    }

    /**
     * Parses {@code text}: a positive decimal number with an optional binary suffix {@code k},
     * {@code m} or {@code g} (case-insensitive, optionally followed by {@code b} or {@code ib}).
     *
     * @throws IllegalArgumentException if the text is not such a size or overflows
     */
    public static long parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("ib")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                default -> shift = -1;
            }
            if (shift >= 0) {
                s = s.substring(0, s.length() - 1);
            } else {
                shift = 0;
            }
        }
        if (s.isEmpty() || !s.chars().allMatch(c -> c >= '0' && c <= '9') || s.length() > 18) {
            throw new IllegalArgumentException("'" + text + "' is not a size (use e.g. 512k, 64m, 1g)");
        }
        long n = Long.parseLong(s);
        if (n == 0) {
            throw new IllegalArgumentException("'" + text + "' is not a positive size");
        }
        if (n > (Long.MAX_VALUE >>> shift)) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return n << shift;
    }

    /** {@code bytes} in the largest whole binary unit: {@code 64m}, {@code 1536k}, {@code 100}. */
    public static String format(long bytes) {
        for (int shift = 30; shift >= 10; shift -= 10) {
            if (bytes != 0 && (bytes & ((1L << shift) - 1)) == 0) {
                return (bytes >>> shift) + (shift == 30 ? "g" : shift == 20 ? "m" : "k");
            }
        }
        return Long.toString(bytes);
    }
}
