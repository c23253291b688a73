"""Which registry dataset each label table of the shared label-table collection belongs to.

The collection (`shared/mos_tables/`, internal, never committed) holds the benchmarks' real label files in
their published layouts, listed in its MANIFEST.tsv by `local_path`. This mapping is what the shared-table
tests (tests/test_shared_tables.py) check file by file and what bench/bench_labels.py parses with.
"""

from __future__ import annotations

SHARED_TABLE_DATASETS: dict[str, str] = {
    "official/AGIQA-1K/AIGC_all.csv": "agiqa1k",
    "official/AGIQA-3K/data.csv": "agiqa3k",
    "official/koniq10k/koniq10k_distributions_sets.csv": "koniq10k",
    "pyiqa-meta_info-2022/meta_info_CSIQDataset.csv": "csiq",
    "pyiqa-meta_info-2022/meta_info_KADID10kDataset.csv": "kadid10k",
    "pyiqa-meta_info-2022/meta_info_KonIQ10k++Dataset.csv": "koniq10kpp",
    "pyiqa-meta_info-2022/meta_info_KonIQ10kDataset.csv": "koniq10k",
    "pyiqa-meta_info-2022/meta_info_LIVEChallengeDataset.csv": "clive",
    "pyiqa-meta_info-2022/meta_info_LIVEIQADataset.csv": "live",
    "pyiqa-meta_info-2022/meta_info_LIVEMDDataset.csv": "livemd",
    "pyiqa-meta_info-2022/meta_info_PIPALDataset.csv": "pipal",
    "pyiqa-meta_info-2022/meta_info_SPAQDataset.csv": "spaq",
    "pyiqa-meta_info-2022/meta_info_TID2008Dataset.csv": "tid2008",
    "pyiqa-meta_info-2022/meta_info_TID2013Dataset.csv": "tid2013",
    "visualquality-r1/KADID-10K/KADID-10K_mos.txt": "kadid10k",
    "visualquality-r1/KADID-10K/KADID-10K_normalized_mos.txt": "kadid10k",
    "visualquality-r1/KADID-10K/KADID-10K_test_set.txt": "kadid10k",
    "visualquality-r1/KADID-10K/KADID-10K_train_set.txt": "kadid10k",
    "visualquality-r1/KADID-10K/KADID-10K_val_set.txt": "kadid10k",
    "visualquality-r1/test_data_label/AGIQA-3K_test_all.txt": "agiqa3k",
    "visualquality-r1/test_data_label/BID_test_all.txt": "bid",
    "visualquality-r1/test_data_label/Deblur_test_all.txt": "liu13",
    "visualquality-r1/test_data_label/KONIQ-10K_test_all.txt": "koniq10k",
    "visualquality-r1/test_data_label/LIVEC_test_all.txt": "clive",
    "visualquality-r1/test_data_label/SPAQ_test_all.txt": "spaq",
    "visualquality-r1/test_data_label/dehaze_test_all.txt": "shrq",
}
