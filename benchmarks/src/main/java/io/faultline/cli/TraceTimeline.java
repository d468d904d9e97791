package io.faultline.cli;

import io.faultline.gc.GcPhase;
import io.faultline.meta.PageStates;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Path;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYIntervalSeries;
import org.jfree.data.xy.XYIntervalSeriesCollection;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The timeline PNG of {@code faultline run --trace}: time (ms since the first record) across, page
 * number down, each page's state as a coloured bar from one transition to the next (grey
 * UNPROCESSED waiting to be built, orange PROCESSING being built, yellow PROCESSED built, blue
 * MAPPING being installed, green MAPPED in place, red FAILED), black dots for faults (a mutator
 * touched a page not yet mapped), and the collector's phases as shaded bands behind (pauses darker,
 * labelled at the top).
 */
final class TraceTimeline {
    private static final int WIDTH = 1400;
    private static final int HEIGHT = 900;
    private static final Color[] STATE_COLOURS = {
        new Color(0x2e, 0x9e, 0x44),   // MAPPED
        new Color(0xb0, 0xb0, 0xb0),   // UNPROCESSED
        new Color(0xf0, 0x8c, 0x1a),   // PROCESSING
        new Color(0xf2, 0xd0, 0x2c),   // PROCESSED
        new Color(0x2a, 0x6f, 0xdb),   // MAPPING
        new Color(0xd6, 0x1f, 0x1f),   // FAILED
    };

    private TraceTimeline() {
    }

    /** Draws {@code trace} into {@code file}; {@code title} names the run. */
    static void write(TraceRecorder trace, String title, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYIntervalSeries[] byState = new XYIntervalSeries[STATE_COLOURS.length];
        for (int s = 0; s < byState.length; s++) {
            byState[s] = new XYIntervalSeries(TraceRecorder.stateName(s), false, true);
        }
        for (int i = 0; i < trace.intervalCount; i++) {
            int s = (int) trace.intervals[i * 4];
            if (s < 0 || s >= byState.length) {
                continue;
            }
            double page = trace.intervals[i * 4 + 1];
            double begin = trace.intervals[i * 4 + 2] / 1e6;
            double end = trace.intervals[i * 4 + 3] / 1e6;
            byState[s].add(begin, begin, end, page, page, page + 1);
        }
        XYIntervalSeriesCollection states = new XYIntervalSeriesCollection();
        for (int s : new int[] {PageStates.UNPROCESSED, PageStates.PROCESSING, PageStates.PROCESSED, PageStates.MAPPING,
                PageStates.MAPPED, PageStates.FAILED}) {
            states.addSeries(byState[s]);
        }
        XYBarRenderer bars = new XYBarRenderer();
        bars.setUseYInterval(true);
        bars.setBarPainter(new StandardXYBarPainter());
        bars.setShadowVisible(false);
        bars.setDrawBarOutline(false);
        for (int i = 0; i < states.getSeriesCount(); i++) {
            bars.setSeriesPaint(i, STATE_COLOURS[stateOf(states.getSeriesKey(i).toString())]);
        }

        XYSeries faultSeries = new XYSeries("fault", false, true);
        for (int i = 0; i < trace.faultCount; i++) {
            faultSeries.add(trace.faults[i * 3] / 1e6, trace.faults[i * 3 + 1] + 0.5, false);
        }
        XYSeriesCollection faults = new XYSeriesCollection(faultSeries);
        XYLineAndShapeRenderer dots = new XYLineAndShapeRenderer(false, true);
        dots.setSeriesPaint(0, Color.BLACK);
        dots.setSeriesShape(0, new Ellipse2D.Double(-2, -2, 4, 4));

        NumberAxis time = new NumberAxis("time since the first record (ms)");
        NumberAxis pages = new NumberAxis("page");
        pages.setInverted(true);
        pages.setAutoRangeIncludesZero(false);
        if (trace.maxPage >= trace.minPage) {
            pages.setRange(trace.minPage, trace.maxPage + 1);
        }
        XYPlot plot = new XYPlot(states, time, pages, bars);
        plot.setDataset(1, faults);
        plot.setRenderer(1, dots);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        for (int i = 0; i < trace.phaseCount; i++) {
            GcPhase phase = GcPhase.values()[(int) trace.phases[i * 3]];
            double begin = trace.phases[i * 3 + 1] / 1e6;
            double end = Math.max(trace.phases[i * 3 + 2] / 1e6, begin + 1e-3);
            IntervalMarker band = new IntervalMarker(begin, end);
            band.setPaint(phase.pause() ? new Color(0xc0, 0x40, 0x40) : new Color(0x80, 0x80, 0xc0));
            band.setAlpha(phase.pause() ? 0.35f : 0.08f);
            band.setLabel(phase.label());
            band.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
            band.setLabelAnchor(phase.pause() ? RectangleAnchor.TOP_LEFT : RectangleAnchor.BOTTOM_LEFT);
            band.setLabelTextAnchor(phase.pause() ? TextAnchor.TOP_LEFT : TextAnchor.BOTTOM_LEFT);
            band.setOutlinePaint(Color.DARK_GRAY);
            band.setOutlineStroke(new BasicStroke(0.5f));
            plot.addDomainMarker(band, Layer.BACKGROUND);
        }
        String subtitle = String.format(java.util.Locale.ROOT, "%d records, %d faults%s", trace.records(), trace.faultCount,
                trace.intervalsDropped > 0 ? ", " + trace.intervalsDropped + " intervals not drawn (too many)" : "");
        JFreeChart chart = new JFreeChart(title + " (" + subtitle + ")", new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    }

    private static int stateOf(String name) {
        for (int s = 0; s < STATE_COLOURS.length; s++) {
            if (TraceRecorder.stateName(s).equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException(name);
    }
}
