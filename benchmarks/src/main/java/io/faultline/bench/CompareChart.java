package io.faultline.bench;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/** The PNG of {@code faultline compare}: fault cost vs its floor, compaction MB/s, pause, per mode. */
public final class CompareChart {
    private CompareChart() {
    }

    public static void write(CompareHarness.Result r, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset fault = new DefaultCategoryDataset();
        DefaultCategoryDataset compaction = new DefaultCategoryDataset();
        DefaultCategoryDataset pause = new DefaultCategoryDataset();
        for (CompareHarness.Row row : r.rows()) {
            String label = row.available() ? row.backend() : row.backend() + " (n/a)";
            if (!row.available()) {
                fault.addValue(0, "fault p50 (us/page)", label);
                fault.addValue(0, "floor (best-pass p50), same run", label);
                compaction.addValue(0, "compaction", label);
                pause.addValue(0, "pause p50", label);
                continue;
            }
            fault.addValue(row.fault().p50(), "fault p50 (us/page)", label);
            fault.addValue(Double.isFinite(row.floorUs()) ? row.floorUs() : 0, "floor (best-pass p50), same run", label);
            compaction.addValue(row.compactionMBps(), "compaction", label);
            pause.addValue(row.pauseP50Ms(), "pause p50", label);
        }
        if (Double.isFinite(r.floors().memcpyMBps())) {
            compaction.addValue(r.floors().memcpyMBps(), "compaction", "memcpy");
        }
        JFreeChart c1 = bar("Fault service per page after a pause (us)", "us per page", fault, true);
        JFreeChart c2 = bar("Compaction throughput (MB/s of live data)", "MB/s", compaction, false);
        JFreeChart c3 = bar("Pause (ms, p50)", "ms", pause, false);
        int w = 1500;
        int h = 520;
        BufferedImage img = new BufferedImage(w, h + 40, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h + 40);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(java.util.Locale.ROOT,
                    "faultline compare (%s plan, heap %d MiB, %d cpus, Linux %s, Java %s) -- ratios are to floors measured in the same run",
                    r.plan().name(), r.plan().heapMb(), Runtime.getRuntime().availableProcessors(),
                    System.getProperty("os.version"), System.getProperty("java.version")), 12, 24);
            c1.draw(g, new Rectangle2D.Double(0, 40, 560, h));
            c2.draw(g, new Rectangle2D.Double(560, 40, 520, h));
            c3.draw(g, new Rectangle2D.Double(1080, 40, 420, h));
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static JFreeChart bar(String title, String axis, DefaultCategoryDataset data, boolean legend) {
        JFreeChart chart = ChartFactory.createBarChart(title, null, axis, data, PlotOrientation.VERTICAL, legend, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(new Color(0xF4F4F4));
        plot.setRangeGridlinePaint(Color.GRAY);
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setSeriesPaint(0, new Color(0x3366CC));
        renderer.setSeriesPaint(1, new Color(0xAAAAAA));
        return chart;
    }
}
