//! Shared code of the integration suites lives in `tests/support/`.
