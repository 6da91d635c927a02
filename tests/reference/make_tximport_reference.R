# Writes the committed tximport references used by tests/refine/test_tximport.py.
# Run from this directory:  Rscript make_tximport_reference.R
# Generates three Salmon-style quant.sf files (tximport_quant/sample{1,2,3}/quant.sf) and a
# tx2gene table with the edge cases tximport handles specially, then writes
# tximport_<mode>_{abundance,counts,length}.tsv for every countsFromAbundance mode.
suppressPackageStartupMessages(library(tximport))
set.seed(20261121)
n_tx <- 40
tx <- sprintf("ENST%011d.%d", seq_len(n_tx), (seq_len(n_tx) %% 3) + 1)
gene <- sprintf("ENSG%011d", c(rep(1:12, each = 3), 13, 14, 15, 16))
len <- sample(300:3000, n_tx, replace = TRUE)
dir.create("tximport_quant", showWarnings = FALSE)
for (s in 1:3) {
  eff <- pmax(len - 180 + round(rnorm(n_tx, 0, 5), 3), 10)
  reads <- round(rexp(n_tx, 1 / 200) * (runif(n_tx) > 0.2), 3)
  reads[1:3] <- 0                       # gene 1: zero abundance in every sample
  if (s == 2) reads[4:6] <- 0            # gene 2: zero abundance in sample 2 only
  tpm <- reads / eff
  tpm <- tpm / sum(tpm) * 1e6
  d <- sprintf("tximport_quant/sample%d", s)
  dir.create(d, showWarnings = FALSE)
  write.table(data.frame(Name = tx, Length = len, EffectiveLength = sprintf("%.3f", eff),
                         TPM = sprintf("%.6f", tpm), NumReads = sprintf("%.3f", reads)),
              file.path(d, "quant.sf"), sep = "\t", quote = FALSE, row.names = FALSE)
}
# transcripts 39 and 40 are absent from tx2gene; transcript 5 is listed twice
t2g <- data.frame(TXNAME = c(tx[1:38], tx[5]), GENEID = c(gene[1:38], "ENSG99999999999"))
write.table(t2g, "tximport_tx2gene.tsv", sep = "\t", quote = FALSE, row.names = FALSE)
files <- sprintf("tximport_quant/sample%d/quant.sf", 1:3)
names(files) <- paste0("sample", 1:3)
for (mode in c("no", "scaledTPM", "lengthScaledTPM")) {
  txi <- suppressMessages(tximport(files, type = "salmon", tx2gene = t2g,
                                   countsFromAbundance = mode, dropInfReps = TRUE))
  for (what in c("abundance", "counts", "length")) {
    m <- txi[[what]]
    out <- cbind(gene = rownames(m), matrix(sprintf("%.17g", m), nrow = nrow(m)))
    colnames(out) <- c("gene", colnames(m))
    write.table(out, sprintf("tximport_%s_%s.tsv", mode, what), sep = "\t", quote = FALSE,
                row.names = FALSE)
  }
}
