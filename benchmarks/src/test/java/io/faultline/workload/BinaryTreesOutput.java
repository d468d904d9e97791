package io.faultline.workload;

/** The Computer Language Benchmarks Game's published binary-trees output. */
public final class BinaryTreesOutput {
    private BinaryTreesOutput() {
    }

    /** Reference output for n = 10 (each tree of depth d has 2^(d+1) - 1 nodes). */
    public static final String N10 = """
            stretch tree of depth 11\t check: 4095
            1024\t trees of depth 4\t check: 31744
            256\t trees of depth 6\t check: 32512
            64\t trees of depth 8\t check: 32704
            16\t trees of depth 10\t check: 32752
            long lived tree of depth 10\t check: 2047
            """;
}
