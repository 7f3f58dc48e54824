//! dsse (being written)
