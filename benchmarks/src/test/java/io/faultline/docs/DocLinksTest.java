package io.faultline.docs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No link leaves the repository, and every link inside it resolves: README.md and the pages under
 * docs/ link only to files of this repository (and to headings that exist in them), and no file
 * under docs/ names a web address. Sources are cited by title, author, venue or path instead
 * (docs/references.md).
 */
class DocLinksTest {
    private static final Pattern LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");
    private static final Pattern URL = Pattern.compile("(?i)\\b(?:https?|ftp)://|\\bwww\\.[a-z0-9-]+\\.[a-z]");
    /** XML namespaces and schema locations of a Maven pom: identifiers, not links anybody follows. */
    private static final Pattern POM_NAMESPACE = Pattern.compile(
            "(?:xmlns(?::xsi)?=\"|xsi:schemaLocation=\")[^\"]*\"");

    @Test
    void everyRelativeLinkResolvesToAFileAndHeading() {
        List<String> broken = new ArrayList<>();
        for (DocPages.Page page : DocPages.all()) {
            for (DocPages.Line line : page.proseLines()) {
                Matcher m = LINK.matcher(line.text());
                while (m.find()) {
                    String target = m.group(1);
                    if (target.contains("://") || target.startsWith("mailto:")) {
                        broken.add(line.where() + ": link leaves the repository: " + target);
                        continue;
                    }
                    int hash = target.indexOf('#');
                    String file = hash < 0 ? target : target.substring(0, hash);
                    String anchor = hash < 0 ? null : target.substring(hash + 1);
                    Path resolved = file.isEmpty() ? page.path() : page.path().getParent().resolve(file).normalize();
                    if (!resolved.startsWith(DocPages.REPO)) {
                        broken.add(line.where() + ": link points outside the repository: " + target);
                    } else if (!Files.exists(resolved)) {
                        broken.add(line.where() + ": no such file: " + target);
                    } else if (anchor != null && resolved.toString().endsWith(".md") && !anchors(resolved).contains(anchor)) {
                        broken.add(line.where() + ": no heading #" + anchor + " in " + DocPages.REPO.relativize(resolved));
                    }
                }
            }
        }
        assertTrue(broken.isEmpty(), () -> "broken links:\n  " + String.join("\n  ", broken));
    }

    @Test
    void noWebAddressInTheDocsOrTheReadme() throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(DocPages.REPO.resolve("README.md"));
        try (Stream<Path> all = Files.walk(DocPages.REPO.resolve("docs"))) {
            all.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/target/"))
                    .filter(p -> !p.toString().endsWith(".png")).sorted().forEach(files::add);
        }
        List<String> found = new ArrayList<>();
        for (Path f : files) {
            List<String> lines = Files.readAllLines(f);
            for (int i = 0; i < lines.size(); i++) {
                String text = lines.get(i);
                if (f.getFileName().toString().equals("pom.xml")) {
                    text = POM_NAMESPACE.matcher(text).replaceAll("");
                }
                Matcher m = URL.matcher(text);
                if (m.find()) {
                    found.add(DocPages.REPO.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).strip());
                }
            }
        }
        assertTrue(found.isEmpty(), () -> "web addresses (cite by title, author, venue or repository path instead):\n  "
                + String.join("\n  ", found));
    }

    /** The anchors GitHub generates for the headings of a markdown file. */
    static Set<String> anchors(Path md) {
        Set<String> out = new HashSet<>();
        try {
            boolean fenced = false;
            for (String line : Files.readAllLines(md)) {
                if (line.strip().startsWith("```")) {
                    fenced = !fenced;
                }
                if (!fenced && line.startsWith("#")) {
                    out.add(slug(line.replaceFirst("^#+\\s*", "")));
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /** GitHub's heading slug: lower case, markup and punctuation dropped, spaces to hyphens. */
    static String slug(String heading) {
        String s = heading.strip().toLowerCase(Locale.ROOT).replace("`", "");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                b.append(c);
            } else if (c == ' ') {
                b.append('-');
            }
        }
        return b.toString();
    }
}
