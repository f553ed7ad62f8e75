//! Pictures: figures of a PCA fit and heatmaps (plotters for text, with an embedded
//! font so no system fonts are needed), with the colour maps defined once.

pub mod colormap;
pub mod debruijn;
mod font;
pub mod heatmap;
pub mod kernels;
pub mod learn_plots;
pub mod plots;
