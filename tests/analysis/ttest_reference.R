# Row-wise t-tests with R's t.test, the reference for tests/analysis/test_comparison.py.
# Usage: Rscript ttest_reference.R values.tsv n_a out.tsv
# values.tsv: a header line, then one row per probe: id, the n_a values of set A, then set B
# (NA for missing). out.tsv: id, Student t, Student p, Welch t, Welch df, Welch p, BH of the
# Student p-values (NA where a set has fewer than two values).
args <- commandArgs(trailingOnly = TRUE)
values <- read.delim(args[1], row.names = 1, na.strings = "NA", check.names = FALSE)
n_a <- as.integer(args[2])
a <- as.matrix(values[, seq_len(n_a)])
b <- as.matrix(values[, -seq_len(n_a)])
one <- function(i, equal) {
  x <- a[i, ]; y <- b[i, ]
  if (sum(!is.na(x)) < 2 || sum(!is.na(y)) < 2) return(c(NA, NA, NA))
  r <- t.test(x, y, var.equal = equal)
  c(unname(r$statistic), unname(r$parameter), r$p.value)
}
student <- t(sapply(seq_len(nrow(a)), one, equal = TRUE))
welch <- t(sapply(seq_len(nrow(a)), one, equal = FALSE))
out <- data.frame(
  id = rownames(values),
  t = student[, 1], p = student[, 3],
  welch_t = welch[, 1], welch_df = welch[, 2], welch_p = welch[, 3],
  bh = p.adjust(student[, 3], method = "BH")
)
out[-1] <- lapply(out[-1], function(column) sprintf("%.17g", column))
write.table(out, args[3], sep = "\t", quote = FALSE, row.names = FALSE)
