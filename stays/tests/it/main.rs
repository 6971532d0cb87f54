//! Stays read model tests.
