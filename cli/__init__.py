"""The `xieshang` command line: the one place that registers every command and wires the product for it."""
