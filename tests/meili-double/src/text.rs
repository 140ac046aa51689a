//! Text helpers for search (tokenization, typo matching).
