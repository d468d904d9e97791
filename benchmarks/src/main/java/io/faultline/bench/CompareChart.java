package io.faultline.bench;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The PNG of {@code faultline compare}: per row, fault cost vs its same-run floor, compaction MB/s,
 * pause, the per-page cost breakdown (build, supply, install, the rest of the compaction's wall
 * time) and peak RSS; with a sweep, MB/s per run length; with binary-trees, both runtimes' times.
 * The same numbers as the table and the JSON.
 */
public final class CompareChart {
    private static final int COLUMNS = 3;
    private static final int PANEL_W = 520;
    private static final int PANEL_H = 440;

    private CompareChart() {
    }

    public static void write(CompareHarness.Result r, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset fault = new DefaultCategoryDataset();
        DefaultCategoryDataset compaction = new DefaultCategoryDataset();
        DefaultCategoryDataset pause = new DefaultCategoryDataset();
        DefaultCategoryDataset cost = new DefaultCategoryDataset();
        DefaultCategoryDataset rss = new DefaultCategoryDataset();
        DefaultCategoryDataset sweep = new DefaultCategoryDataset();
        for (CompareHarness.Row row : r.rows()) {
            String label = row.available() ? row.label() : row.label() + " (n/a)";
            if (!row.available()) {
                fault.addValue(0, "fault p50 (stall/page with fault-around)", label);
                fault.addValue(0, "its floor (p50, same rounds)", label);
                compaction.addValue(0, "compaction", label);
                pause.addValue(0, "pause p50", label);
                rss.addValue(0, "peak RSS", label);
                continue;
            }
            fault.addValue(row.perFault() ? row.fault().p50() : row.fault().mean(), "fault p50 (stall/page with fault-around)", label);
            fault.addValue(Double.isFinite(row.floorUs()) ? row.floorUs() : 0, "its floor (p50, same rounds)", label);
            compaction.addValue(row.compactionMBps(), "compaction", label);
            pause.addValue(row.pauseP50Ms(), "pause p50", label);
            rss.addValue(Double.isFinite(row.peakRssMB()) ? row.peakRssMB() : 0, "peak RSS", label);
            CompareHarness.Breakdown b = row.breakdown();
            if (b != null) {
                double build = finite(b.buildUs());
                double supply = finite(b.supplyUs());
                double install = finite(b.installUs());
                cost.addValue(build, "build", label);
                cost.addValue(supply, "supply", label);
                cost.addValue(install, "install", label);
                cost.addValue(Math.max(0, finite(b.wallUsPerPage()) - build - supply - install), "rest of the wall time", label);
            }
            for (CompareHarness.SweepPoint p : row.sweep()) {
                sweep.addValue(finite(p.compactionMBps()), row.label(), Long.toString(p.runPages()));
            }
        }
        if (Double.isFinite(r.floors().memcpyMBps())) {
            compaction.addValue(r.floors().memcpyMBps(), "compaction", "memcpy");
        }
        List<JFreeChart> charts = new ArrayList<>();
        charts.add(bar("Fault service per page after a pause (us)", "us per page", fault, true, false));
        charts.add(bar("Compaction throughput (MB/s of live data)", "MB/s", compaction, false, false));
        charts.add(bar("Pause (ms, p50)", "ms", pause, false, false));
        if (cost.getRowCount() > 0) {
            charts.add(bar("Compaction cost per page (us)", "us per page", cost, true, true));
        }
        charts.add(bar("Peak RSS over the rounds (MB)", "MB", rss, false, false));
        if (sweep.getRowCount() > 0) {
            charts.add(bar("Compaction MB/s per run length (pages per ioctl)", "MB/s", sweep, true, false));
        }
        BinaryTreesReference.Result t = r.binaryTrees();
        if (t != null) {
            DefaultCategoryDataset trees = new DefaultCategoryDataset();
            for (BinaryTreesReference.Run f : t.faultline()) {
                trees.addValue(finite(f.workMs() / 1e3), "s", shortLabel(f.label()));
            }
            trees.addValue(finite(t.hotspot().workMs() / 1e3), "s", "HotSpot " + t.hotspot().label().split(" ")[0]);
            charts.add(bar("binary-trees " + t.depth() + " (s, same run" + (t.repeats() > 1 ? ", median of " + t.repeats() : "") + ")",
                    "s", trees, false, false));
        }
        int rows = (charts.size() + COLUMNS - 1) / COLUMNS;
        int w = COLUMNS * PANEL_W;
        int h = 40 + rows * PANEL_H;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(java.util.Locale.ROOT,
                    "faultline compare (%s plan, heap %d MiB, %d cpus, Linux %s, Java %s) -- ratios are to floors measured in the same run",
                    r.plan().name(), r.plan().heapMb(), Runtime.getRuntime().availableProcessors(),
                    System.getProperty("os.version"), System.getProperty("java.version")), 12, 24);
            for (int i = 0; i < charts.size(); i++) {
                charts.get(i).draw(g, new Rectangle2D.Double((i % COLUMNS) * PANEL_W, 40 + (i / COLUMNS) * PANEL_H, PANEL_W, PANEL_H));
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static double finite(double d) {
        return Double.isFinite(d) ? d : 0;
    }

    private static JFreeChart bar(String title, String axis, DefaultCategoryDataset data, boolean legend, boolean stacked) {
        JFreeChart chart = stacked
                ? ChartFactory.createStackedBarChart(title, null, axis, data, PlotOrientation.VERTICAL, legend, false, false)
                : ChartFactory.createBarChart(title, null, axis, data, PlotOrientation.VERTICAL, legend, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(new Color(0xF4F4F4));
        plot.setRangeGridlinePaint(Color.GRAY);
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setSeriesPaint(0, new Color(0x3366CC));
        renderer.setSeriesPaint(1, new Color(0xAAAAAA));
        renderer.setSeriesPaint(2, new Color(0xDC3912));
        renderer.setSeriesPaint(3, new Color(0xFF9900));
        plot.getDomainAxis().setCategoryLabelPositions(org.jfree.chart.axis.CategoryLabelPositions.UP_45);
        return chart;
    }

    /**
     * A binary-trees run's label short enough for a category axis: "uffd continue/sigbus/keep small
     * pages young cycles" becomes "continue/sigbus/keep small" (the full label is in the stdout
     * line and the CSV).
     */
    static String shortLabel(String label) {
        return label.replace("uffd ", "").replace(" pages", "").replace(" young cycles", "").replace("fault-around ", "fa ");
    }
}
