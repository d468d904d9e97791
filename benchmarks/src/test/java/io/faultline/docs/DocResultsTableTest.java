package io.faultline.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.faultline.bench.CompareMarkdown;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The tables of docs/results.md are exactly what {@link CompareMarkdown} renders from the CSV they
 * cite (docs/data/compare.csv, and docs/data/kvm/final/compare.csv for "On a KVM host"), so no number
 * in them was typed by hand or left behind by an older run.
 */
class DocResultsTableTest {
    @Test
    void theResultsTableIsTheRenderingOfTheCompareCsv() throws Exception {
        assertRendering("results-table", Path.of("docs", "data", "compare.csv"));
    }

    @Test
    void theKvmTableIsTheRenderingOfTheFinalKvmCompareCsv() throws Exception {
        assertRendering("kvm-results-table", Path.of("docs", "data", "kvm", "final", "compare.csv"));
    }

    private static void assertRendering(String marker, Path csvPath) throws Exception {
        String shown = DocPages.page("docs/results.md").blockAfter(marker);
        assertNotNull(shown, "docs/results.md has no <!-- " + marker + " --> marker before its table");
        String csv = Files.readString(DocPages.REPO.resolve(csvPath));
        assertEquals(CompareMarkdown.table(csv), shown,
                "docs/results.md's table after <!-- " + marker + " --> differs from the rendering of " + csvPath
                        + "; regenerate it with java -cp benchmarks/target/faultline.jar io.faultline.bench.CompareMarkdown " + csvPath);
    }
}
