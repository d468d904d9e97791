package io.faultline.model;

/**
 * A checked-mode rejection of a reference or field access: null, out-of-heap, misaligned or
 * non-object reference, or a slot, field offset or index out of range. The message names the
 * operation, the object (type and address) and the field.
 */
public final class InvalidAccessException extends RuntimeException {
    public InvalidAccessException(String message) {
        super(message);
    }
}
