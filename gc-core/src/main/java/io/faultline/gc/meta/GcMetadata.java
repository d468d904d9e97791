package io.faultline.gc.meta;

/**
 * The collector's side tables as one bundle, handed to a backend once so that a native
 * compactor can be given their addresses. Layouts: {@link GcMetadataDescriptor},
 * {@link PageStates}, {@link CompactionControl}.
 */
public record GcMetadata(MarkBitmap bitmap, OffsetVector offsets, FirstObjectTable firstObjects,
                         PageStates pageStates, CompactionControl control) {
}
