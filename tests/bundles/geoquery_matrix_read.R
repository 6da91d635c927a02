# Reads a GEO series matrix with R's GEOquery and writes the sample metadata it saw as plain
# text, for tests/bundles/test_export_matrix_tabs.py (run live by that test; nothing is
# committed).
#
# Usage: Rscript geoquery_matrix_read.R FILE OUT
#
# OUT gets one line per non-empty pData value: accession, field, value, separated by the unit
# separator (0x1f) so values may hold tabs. GEOquery numbers repeated fields (x, x.1, x.2):
# the number is dropped.
suppressPackageStartupMessages(library(GEOquery))
args <- commandArgs(trailingOnly = TRUE)
eset <- suppressMessages(getGEO(filename = args[1], getGPL = FALSE, parseCharacteristics = FALSE))
pdata <- pData(eset)
fields <- sub("\\.[0-9]+$", "", colnames(pdata))
lines <- character()
for (i in seq_len(nrow(pdata))) {
  for (j in seq_along(fields)) {
    value <- as.character(pdata[i, j])
    if (!is.na(value) && nzchar(value)) {
      lines <- c(lines, paste(pdata$geo_accession[i], fields[j], value, sep = "\x1f"))
    }
  }
}
con <- file(args[2], open = "w", encoding = "UTF-8")
writeLines(lines, con)
close(con)
