# Reads a GEO SOFT file with R's GEOquery and writes what it saw as plain text, for
# tests/formats/test_geoquery.py (run live by that test; nothing here is committed output).
#
# Usage: Rscript geoquery_read.R FILE OUTDIR [FILE OUTDIR ...] (R and GEOquery start once)
#
# OUTDIR gets: kind.txt (GSE or GDS); for a GSE, gsms.txt and gpls.txt (accessions), and per
# sample <GSM>.meta.tsv (key, value: one line per value) and <GSM>.table.tsv (its data table),
# per platform <GPL>.table.tsv; for a GDS, columns.tsv (the sample-to-subset table GEOquery
# builds) and table.tsv (the data table).
suppressPackageStartupMessages(library(GEOquery))
write_meta <- function(meta, path) {
  lines <- unlist(lapply(names(meta), function(k) paste(k, meta[[k]], sep = "\t")))
  writeLines(lines, path, useBytes = TRUE)
}
write_tsv <- function(frame, path) {
  frame[] <- lapply(frame, as.character)  # numbers as R prints them at full precision below
  write.table(frame, path, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
}
full_precision <- function(frame) {
  frame[] <- lapply(frame, function(x) if (is.numeric(x)) sprintf("%.17g", x) else x)
  frame
}

read_one <- function(file, out) {
  obj <- getGEO(filename = file)
  if (is(obj, "GSE")) {
    writeLines("GSE", file.path(out, "kind.txt"))
    writeLines(names(GSMList(obj)), file.path(out, "gsms.txt"))
    writeLines(names(GPLList(obj)), file.path(out, "gpls.txt"))
    for (id in names(GSMList(obj))) {
      gsm <- GSMList(obj)[[id]]
      write_meta(Meta(gsm), file.path(out, paste0(id, ".meta.tsv")))
      write_tsv(full_precision(Table(gsm)), file.path(out, paste0(id, ".table.tsv")))
    }
    for (id in names(GPLList(obj))) {
      write_tsv(Table(GPLList(obj)[[id]]), file.path(out, paste0(id, ".table.tsv")))
    }
  } else if (is(obj, "GDS")) {
    writeLines("GDS", file.path(out, "kind.txt"))
    write_tsv(Columns(obj), file.path(out, "columns.tsv"))
    write_tsv(full_precision(Table(obj)), file.path(out, "table.tsv"))
  } else {
    stop(paste("unexpected GEOquery class", class(obj)))
  }
}

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) > 0, length(args) %% 2 == 0)
for (i in seq(1, length(args), by = 2)) {
  read_one(args[i], args[i + 1])
}
