package io.faultline.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The table of docs/results.md, rendered from the {@code compare.csv} that {@code faultline compare}
 * writes, so that a new run replaces the table without retyping a number:
 *
 * <pre>
 * ./faultline compare --out /tmp/cmp
 * cp /tmp/cmp/compare.json /tmp/cmp/compare.csv docs/data/ &amp;&amp; cp /tmp/cmp/compare.png docs/img/
 * java -cp benchmarks/target/faultline.jar io.faultline.bench.CompareMarkdown docs/data/compare.csv
 * </pre>
 *
 * and paste the output over the table in docs/results.md ({@code DocResultsTableTest} checks that
 * the page shows exactly this rendering of docs/data/compare.csv).
 */
public final class CompareMarkdown {
    private CompareMarkdown() {
    }

    /** Prints the markdown table of the compare.csv named by {@code args[0]} (a file or a results folder). */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java -cp faultline.jar io.faultline.bench.CompareMarkdown RESULTS/compare.csv");
            System.exit(2);
        }
        Path p = Path.of(args[0]);
        if (Files.isDirectory(p)) {
            p = p.resolve("compare.csv");
        }
        System.out.print(table(Files.readString(p)));
    }

    /** The markdown table of one compare.csv text. */
    public static String table(String csv) {
        List<String> lines = csv.lines().filter(l -> !l.isBlank()).toList();
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("compare.csv is empty");
        }
        List<String> header = cells(lines.getFirst());
        StringBuilder out = new StringBuilder();
        out.append("| variant | touch p50 µs | stall per touch µs | floor (same run) | stall / floor | faults / touches "
                + "| compaction MB/s | x memcpy | build µs/page | supply µs/page | install µs/page | ioctls / page "
                + "| pause p50 ms | peak RSS MB |\n");
        out.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String line : lines.subList(1, lines.size())) {
            List<String> cells = cells(line);
            if (cells.size() != header.size()) {
                throw new IllegalArgumentException("compare.csv: a row has " + cells.size() + " cells, the header "
                        + header.size() + ": " + line);
            }
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < header.size(); i++) {
                row.put(header.get(i), cells.get(i));
            }
            String label = row.get("label");
            if (!Boolean.parseBoolean(row.get("available"))) {
                out.append("| ").append(label).append(" | unavailable: ").append(row.get("reason").replace("|", "\\|"))
                        .append(" |").append(" |".repeat(12)).append('\n');
                continue;
            }
            double memcpy = num(row, "memcpy_mbps");
            double compaction = num(row, "compaction_mbps");
            out.append("| ").append(label)
                    .append(" | ").append(fmt(num(row, "fault_p50_us"), 2))
                    .append(" | ").append(fmt(num(row, "fault_mean_us"), 2))
                    .append(" | ").append(row.get("floor")).append(' ').append(fmt(num(row, "floor_p50_us"), 2)).append(" µs")
                    .append(" | ").append(fmt(num(row, "stall_ratio"), 2)).append('x')
                    .append(" | ").append(row.get("faults_served")).append(" / ").append(row.get("touches"))
                    .append(" | ").append(fmt(compaction, 0))
                    .append(" | ").append(fmt(compaction / memcpy, 3)).append('x')
                    .append(" | ").append(fmt(num(row, "build_us"), 2))
                    .append(" | ").append(fmt(num(row, "supply_us"), 2))
                    .append(" | ").append(fmt(num(row, "install_us"), 2))
                    .append(" | ").append(fmt(num(row, "ioctls_per_page"), 3))
                    .append(" | ").append(fmt(num(row, "pause_p50_ms"), 2))
                    .append(" | ").append(fmt(num(row, "peak_rss_mb"), 0))
                    .append(" |\n");
        }
        return out.toString();
    }

    private static double num(Map<String, String> row, String column) {
        String v = row.get(column);
        if (v == null) {
            throw new IllegalArgumentException("compare.csv has no column " + column);
        }
        return v.isEmpty() ? Double.NaN : Double.parseDouble(v);
    }

    private static String fmt(double v, int decimals) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%,." + decimals + "f", v) : "-";
    }

    /** The cells of one CSV line; a quoted cell may hold commas and doubled quotes. */
    static List<String> cells(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cell.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cell.toString());
                cell.setLength(0);
            } else {
                cell.append(c);
            }
        }
        out.add(cell.toString());
        return out;
    }
}
