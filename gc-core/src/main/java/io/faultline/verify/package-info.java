/**
 * The heap verifier, a test and debugging aid.
 *
 * <p>{@link io.faultline.verify.HeapVerifier#verify} walks the used region object by object. It
 * checks every header (magic, known type, size consistent with the type or array length, inside
 * the used region, the null guard only at offset 0), and checks that every reference, in objects
 * and in roots, is null or points at the start of a real object. It returns a
 * {@link io.faultline.verify.VerifyReport} that names the first bad object. The collector runs it
 * after every cycle when {@code HeapConfig.verifyAfterGc} is set, and {@code Heap.verify()} runs
 * it on demand.
 *
 * <p><b>Threading:</b> read-only. The caller must have stopped the world, and every page of the
 * view must be mapped (no compaction in flight).
 */
package io.faultline.verify;
