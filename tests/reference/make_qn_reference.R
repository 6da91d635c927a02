# Writes the committed quantile-normalization references used by tests/refine/test_qn.py.
# Run from this directory:  Rscript make_qn_reference.R
# Needs Bioconductor preprocessCore. Each case writes
#   qn_<case>_x.tsv         genes x samples input ("NA" = missing), no header
#   qn_<case>_target.tsv    the target, one value per line
#   qn_<case>_expected.tsv  normalize.quantiles.use.target(x, target)
# and qn_determine_expected.tsv holds normalize.quantiles.determine.target(x) of case "ties_na".
suppressPackageStartupMessages(library(preprocessCore))
set.seed(20261121)
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
write_matrix <- function(m, path) {
  text <- matrix(fmt(m), nrow = nrow(m))
  write.table(text, path, sep = "\t", quote = FALSE, row.names = FALSE, col.names = FALSE)
}
write_case <- function(name, x, target) {
  write_matrix(x, sprintf("qn_%s_x.tsv", name))
  writeLines(fmt(target), sprintf("qn_%s_target.tsv", name))
  write_matrix(normalize.quantiles.use.target(x, target), sprintf("qn_%s_expected.tsv", name))
}
with_na <- function(x, p) { x[matrix(runif(length(x)) < p, nrow(x))] <- NA; x }

# integer values: many ties of every size, 15% missing, target of equal length
x <- with_na(matrix(sample(0:9, 60 * 6, replace = TRUE), 60, 6) * 1.0, 0.15)
x[, 6] <- sample(0:9, 60, replace = TRUE)  # one complete column with ties
target <- sort(rlnorm(60, 3, 1))
write_case("ties_na", x, target)
writeLines(fmt(normalize.quantiles.determine.target(x)), "qn_determine_expected.tsv")

# continuous values without missing values, target with ties of its own
x <- matrix(rnorm(40 * 5, 8, 2), 40, 5)
write_case("complete", x, sort(round(rnorm(40, 8, 2))))

# target longer and shorter than the matrix (percentile interpolation for every column)
x <- with_na(matrix(round(rnorm(30 * 4, 5, 2), 1), 30, 4), 0.1)
write_case("longer_target", x, sort(rnorm(47, 5, 2)))
write_case("shorter_target", x, sort(rnorm(13, 5, 2)))

# edge columns: all missing, a single observed value, two observed values, negatives
x <- matrix(rnorm(12 * 4), 12, 4)
x[, 1] <- NA
x[-5, 2] <- NA
x[-c(2, 9), 3] <- NA
x[c(1, 2, 3), 4] <- -1.5
write_case("edges", x, sort(rnorm(12)))
