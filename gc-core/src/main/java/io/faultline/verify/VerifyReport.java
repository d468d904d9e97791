package io.faultline.verify;

/**
 * Outcome of a heap walk. {@link #ok()} is true if nothing was wrong; otherwise
 * {@link #problem()} names the first bad object (address, type) and what is wrong with it.
 *
 * @param objects    objects walked (fillers excluded)
 * @param bytes      bytes walked (the used region)
 * @param problem    description of the first problem, or null
 * @param badOffset  heap offset of the first bad object, or -1
 */
public record VerifyReport(long objects, long bytes, String problem, long badOffset) {
    public boolean ok() {
        return problem == null;
    }

    @Override
    public String toString() {
        return ok() ? "heap OK: " + objects + " objects in " + bytes + " bytes" : "heap DAMAGED: " + problem;
    }
}
