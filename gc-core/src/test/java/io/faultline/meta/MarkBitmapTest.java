package io.faultline.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.faultline.testing.ModelRunner;
import java.lang.foreign.Arena;
import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link MarkBitmap#markRange} sets exactly the bits of its words, against a {@link BitSet}
 * model: ranges inside one entry, across entries, starting and ending on entry boundaries or not,
 * overlapping earlier ranges. Seeded; a failure prints the seed.
 */
class MarkBitmapTest {
    static final long HEAP = 64 * 1024;

    @Test
    void markRangeSetsExactlyItsWords() {
        long seed = ModelRunner.replaySeed() >= 0 ? ModelRunner.replaySeed() : System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        int words = (int) (HEAP / 8);
        for (int round = 0; round < 200; round++) {
            try (Arena arena = Arena.ofConfined()) {
                MarkBitmap bitmap = new MarkBitmap(arena, HEAP);
                BitSet model = new BitSet(words);
                for (int k = 0; k < 1 + r.nextInt(6); k++) {
                    int first = r.nextInt(words);
                    int n = switch (r.nextInt(4)) {
                        case 0 -> r.nextInt(1, 65);                          // within or across one boundary
                        case 1 -> 64 * r.nextInt(1, 20);                     // whole entries' worth
                        case 2 -> r.nextInt(1, words - first + 1);           // anything up to the end
                        default -> Math.min(words - first, 64 - (first & 63)); // to the entry's end
                    };
                    n = Math.min(n, words - first);
                    bitmap.markRange((long) first * 8, n);
                    model.set(first, first + n);
                }
                for (int w = 0; w < words; w++) {
                    if (model.get(w) != bitmap.isMarked((long) w * 8)) {
                        assertEquals(model.get(w), bitmap.isMarked((long) w * 8), "word " + w + ", round " + round
                            + ", seed " + seed + " (replay: -Dfaultline.seed=" + seed + ")");
                    }
                }
            }
        }
    }
}
