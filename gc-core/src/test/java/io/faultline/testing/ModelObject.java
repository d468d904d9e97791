package io.faultline.testing;

/**
 * A plain-Java twin of one heap object in the reference model: its kind, its references (to
 * other twins) and the exact bytes of its data area.
 */
public final class ModelObject {
    final TestTypes.Kind kind;
    final ModelObject[] refs;
    final byte[] data;
    /** Objects reachable from several mutators are never written after construction. */
    boolean shared;

    ModelObject(TestTypes.Kind kind, int refCount, int dataBytes) {
        this.kind = kind;
        this.refs = new ModelObject[refCount];
        this.data = new byte[dataBytes];
    }
}
