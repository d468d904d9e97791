package io.faultline.backend;

/**
 * A to-space page could not be built because its from-space sources are damaged (for example an
 * object header whose size is zero). Carries the page and the from-space offset of the object at
 * fault so that the heap's failure report can name both.
 */
public final class PageBuildException extends RuntimeException {
    private final long page;
    private final long fromOffset;

    public PageBuildException(long page, long fromOffset, String message) {
        super(message);
        this.page = page;
        this.fromOffset = fromOffset;
    }

    /** The to-space page that could not be built. */
    public long page() {
        return page;
    }

    /** The from-space offset of the damaged object, or -1. */
    public long fromOffset() {
        return fromOffset;
    }
}
