/** Datasets: folder layout (Negative/Positive/Masks), deterministic hash splits, the synthetic generator. */
export type { LoadedDataset, LoadOptions, Sample, Split } from "./types";
export { DATASET_LAYOUT, listFolderDataset, loadFolderDataset } from "./folder";
export type { FolderEntry, FolderListing, FolderLoadOptions } from "./folder";
export { inSplit, splitOf, stableHash32, unitHash } from "./split";
export { generateSynthetic, generateSyntheticWithInfo, writeSyntheticDataset } from "./synthetic";
export type { Rng, SyntheticInfo, SyntheticOptions } from "./synthetic";
