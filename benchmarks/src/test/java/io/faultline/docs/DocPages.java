package io.faultline.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The documentation as the doc tests read it: README.md and every markdown page under docs/, split
 * into lines, with the inline code spans and fenced blocks of each page and the line they are on.
 */
final class DocPages {
    /** The repository root (the parent of the benchmarks module). */
    static final Path REPO = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();

    private static final Pattern FENCE = Pattern.compile("^\\s*```");
    private static final Pattern SPAN = Pattern.compile("`([^`]+)`");

    private DocPages() {
    }

    /** One markdown page: its path relative to the repository and its lines. */
    record Page(Path path, List<String> lines) {
        String name() {
            return REPO.relativize(path).toString();
        }

        /** Inline code spans outside fenced blocks. */
        List<Span> spans() {
            List<Span> spans = new ArrayList<>();
            boolean fenced = false;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (FENCE.matcher(line).find()) {
                    fenced = !fenced;
                    continue;
                }
                if (fenced) {
                    continue;
                }
                Matcher m = SPAN.matcher(line);
                while (m.find()) {
                    spans.add(new Span(this, i + 1, m.group(1), line.substring(m.end())));
                }
            }
            return spans;
        }

        /** The lines inside fenced blocks, with their line numbers. */
        List<Line> fencedLines() {
            List<Line> out = new ArrayList<>();
            boolean fenced = false;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (FENCE.matcher(line).find()) {
                    fenced = !fenced;
                    continue;
                }
                if (fenced) {
                    out.add(new Line(this, i + 1, line));
                }
            }
            return out;
        }

        /** The lines outside fenced blocks, with their line numbers. */
        List<Line> proseLines() {
            List<Line> out = new ArrayList<>();
            boolean fenced = false;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (FENCE.matcher(line).find()) {
                    fenced = !fenced;
                    continue;
                }
                if (!fenced) {
                    out.add(new Line(this, i + 1, line));
                }
            }
            return out;
        }

        /**
         * The text of the fenced block that follows the line {@code <!-- marker -->}, or null if the
         * page has no such marker.
         */
        String blockAfter(String marker) {
            int i = lines.indexOf("<!-- " + marker + " -->");
            if (i < 0) {
                return null;
            }
            int open = i + 1;
            while (open < lines.size() && !FENCE.matcher(lines.get(open)).find()) {
                open++;
            }
            StringBuilder b = new StringBuilder();
            for (int j = open + 1; j < lines.size() && !FENCE.matcher(lines.get(j)).find(); j++) {
                b.append(lines.get(j)).append('\n');
            }
            return b.toString();
        }
    }

    /** An inline code span: its page, line, text, and the rest of its line after it. */
    record Span(Page page, int line, String text, String after) {
        String where() {
            return page.name() + ":" + line + ": `" + text + "`";
        }
    }

    /** A line of a page. */
    record Line(Page page, int line, String text) {
        String where() {
            return page.name() + ":" + line;
        }
    }

    /** README.md and every markdown page under docs/ (docs/consumer's build output excluded). */
    static List<Page> all() {
        List<Path> paths = new ArrayList<>();
        paths.add(REPO.resolve("README.md"));
        try (Stream<Path> files = Files.walk(REPO.resolve("docs"))) {
            files.filter(p -> p.toString().endsWith(".md") && !p.toString().contains("/target/")).sorted().forEach(paths::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return paths.stream().map(DocPages::read).toList();
    }

    static Page page(String relative) {
        return read(REPO.resolve(relative));
    }

    private static Page read(Path p) {
        try {
            return new Page(p, Files.readAllLines(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
