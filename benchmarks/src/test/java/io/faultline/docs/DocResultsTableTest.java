package io.faultline.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.faultline.bench.CompareMarkdown;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The table of docs/results.md is exactly what {@link CompareMarkdown} renders from
 * docs/data/compare.csv, so no number in it was typed by hand or left behind by an older run.
 */
class DocResultsTableTest {
    @Test
    void theResultsTableIsTheRenderingOfTheCompareCsv() throws Exception {
        String shown = DocPages.page("docs/results.md").blockAfter("results-table");
        assertNotNull(shown, "docs/results.md has no <!-- results-table --> marker before the table");
        String csv = Files.readString(DocPages.REPO.resolve(Path.of("docs", "data", "compare.csv")));
        assertEquals(CompareMarkdown.table(csv), shown,
                "docs/results.md's table differs from the rendering of docs/data/compare.csv; regenerate it with "
                        + "java -cp benchmarks/target/faultline.jar io.faultline.bench.CompareMarkdown docs/data/compare.csv");
    }
}
