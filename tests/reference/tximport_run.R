# Run Bioconductor tximport on Salmon quant.sf files (used by tests/refine/test_tximport.py).
# Usage: Rscript tximport_run.R TX2GENE.tsv MODE OUT_PREFIX QUANT.sf...
# MODE is no, scaledTPM or lengthScaledTPM. Writes OUT_PREFIX{abundance,counts,length}.tsv:
# a header "gene<TAB>sample1..." then one row per gene, values with 17 significant digits.
suppressPackageStartupMessages(library(tximport))
args <- commandArgs(trailingOnly = TRUE)
tx2gene <- read.delim(args[1], header = TRUE, colClasses = "character")
files <- args[-(1:3)]
names(files) <- paste0("sample", seq_along(files))
txi <- suppressMessages(tximport(files, type = "salmon", tx2gene = tx2gene,
                                 countsFromAbundance = args[2], dropInfReps = TRUE))
for (what in c("abundance", "counts", "length")) {
  m <- txi[[what]]
  text <- matrix(sprintf("%.17g", m), nrow = nrow(m))
  out <- cbind(gene = rownames(m), text)
  colnames(out) <- c("gene", colnames(m))
  write.table(out, paste0(args[3], what, ".tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
}
