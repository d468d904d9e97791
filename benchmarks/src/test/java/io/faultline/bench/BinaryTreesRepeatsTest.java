package io.faultline.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BinaryTreesReference.Result;
import io.faultline.bench.BinaryTreesReference.Run;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The binary-trees row's repetitions: medians, each run's ratio, and a failed repetition failing the runtime. */
class BinaryTreesRepeatsTest {
    private static Run run(String runtime, double workMs, String error) {
        return Run.single(runtime, runtime, List.of(runtime), workMs, workMs + 500, error == null, error);
    }

    @Test
    void theMedianIsTheMiddleValueOrTheMeanOfTheMiddleTwo() {
        assertEquals(2.0, BinaryTreesReference.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, BinaryTreesReference.median(List.of(4.0, 1.0, 3.0, 2.0)));
        assertEquals(7.0, BinaryTreesReference.median(List.of(7.0)));
        assertTrue(Double.isNaN(BinaryTreesReference.median(List.of(1.0, Double.NaN, 3.0))));
        assertTrue(Double.isNaN(BinaryTreesReference.median(List.of())));
    }

    @Test
    void repetitionsGiveMediansAndTheRatioOfEachRun() {
        Run heap = Run.of(List.of(run("faultline", 9000, null), run("faultline", 12000, null), run("faultline", 10000, null)));
        Run hotspot = Run.of(List.of(run("hotspot", 3000, null), run("hotspot", 4000, null), run("hotspot", 2500, null)));
        assertEquals(10000, heap.workMs());
        assertEquals(10500, heap.processMs());
        assertEquals(List.of(9000.0, 12000.0, 10000.0), heap.repeatsMs());
        assertTrue(heap.ok());
        Result r = new Result(21, 512L << 20, List.of(heap), hotspot);
        assertEquals(3, r.repeats());
        assertEquals(10000.0 / 3000, r.ratio(), 1e-12, "median over median");
        assertArrayEquals(new double[] {3.0, 4.0}, r.ratioRange(heap), 1e-12, "run by run: 9/3, 12/4, 10/2.5");
    }

    @Test
    void aFailedRepetitionFailsTheRuntime() {
        Run heap = Run.of(List.of(run("faultline", 9000, null), run("faultline", Double.NaN, "exit status 1: boom")));
        assertFalse(heap.ok());
        assertEquals("exit status 1: boom", heap.error());
        assertTrue(Double.isNaN(heap.workMs()));
        Result r = new Result(21, 512L << 20, List.of(heap), Run.of(List.of(run("hotspot", 3000, null), run("hotspot", 3100, null))));
        assertTrue(Double.isNaN(r.ratioRange(heap)[0]));
    }
}
