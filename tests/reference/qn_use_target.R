# Quantile-normalize a matrix to a target with preprocessCore (used by tests/refine/test_qn.py).
# Usage: Rscript qn_use_target.R MATRIX.tsv TARGET.tsv OUT.tsv [MATRIX2.tsv TARGET2.tsv OUT2.tsv ...]
# (several cases in one call: R and preprocessCore start once)
# MATRIX.tsv: genes x samples, no header, "NA" for missing; TARGET.tsv: one value per line.
# OUT.tsv is written with 17 significant digits so that no precision is lost.
suppressPackageStartupMessages(library(preprocessCore))
args <- commandArgs(trailingOnly = TRUE)
read_matrix <- function(path) {
  as.matrix(read.table(path, sep = "\t", header = FALSE, na.strings = "NA",
                       colClasses = "numeric"))
}
write_matrix <- function(m, path) {
  text <- matrix(sprintf("%.17g", m), nrow = nrow(m))
  text[is.na(m)] <- "NA"
  write.table(text, path, sep = "\t", quote = FALSE, row.names = FALSE, col.names = FALSE)
}
stopifnot(length(args) > 0, length(args) %% 3 == 0)
for (i in seq(1, length(args), by = 3)) {
  x <- read_matrix(args[i])
  target <- as.numeric(readLines(args[i + 1]))
  dimnames(x) <- NULL
  y <- normalize.quantiles.use.target(x, target)
  write_matrix(y, args[i + 2])
}
