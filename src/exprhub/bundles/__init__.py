"""Taking data away from a hub: records written back out as GEO files, refined values as
genes x samples tables (:mod:`~exprhub.bundles.export`); dataset bundles and compendia come
here too."""
