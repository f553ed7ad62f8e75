//! Pictures: figures of a PCA fit (plotters, with an embedded font so no system fonts
//! are needed).

pub mod plots;
