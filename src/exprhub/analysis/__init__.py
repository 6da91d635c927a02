"""Analysis of the hub's expression values: GEO Profiles (values, rank percentiles, flags,
neighbours), GEO2R-style differential expression (a linear-model / empirical-Bayes fit written
from the published methods, checked against R limma), comparisons of sample sets, clustering
and distributions. Reads expression through the hub and the refinery's public functions."""
