//! Bad input through the command line.
