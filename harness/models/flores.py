"""ISO 639 codes to the FLORES-200 codes NLLB-200 names its languages by (`deu_Latn`, `zho_Hans`).

A FLORES-200 code is an ISO 639-3 code and an ISO 15924 script. Most ISO codes map by their
three-letter form when FLORES has exactly one script for it. The exceptions are listed: macro-
languages whose NLLB language is one member (Arabic is `arb`, Persian `pes`, Swahili `swh`), and
languages FLORES writes in two scripts (Chinese defaults to Simplified). A card can override any
mapping (`language_codes: {zh: zho_Hant}`); a language with no code is refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pycountry

from harness.core.errors import InputError
from harness.core.languages import lookup_language

FLORES_200 = frozenset(
    """
    ace_Arab ace_Latn acm_Arab acq_Arab aeb_Arab afr_Latn ajp_Arab aka_Latn amh_Ethi apc_Arab arb_Arab
    ars_Arab ary_Arab arz_Arab asm_Beng ast_Latn awa_Deva ayr_Latn azb_Arab azj_Latn bak_Cyrl bam_Latn
    ban_Latn bel_Cyrl bem_Latn ben_Beng bho_Deva bjn_Arab bjn_Latn bod_Tibt bos_Latn bug_Latn bul_Cyrl
    cat_Latn ceb_Latn ces_Latn cjk_Latn ckb_Arab crh_Latn cym_Latn dan_Latn deu_Latn dik_Latn dyu_Latn
    dzo_Tibt ell_Grek eng_Latn epo_Latn est_Latn eus_Latn ewe_Latn fao_Latn pes_Arab fij_Latn fin_Latn
    fon_Latn fra_Latn fur_Latn fuv_Latn gla_Latn gle_Latn glg_Latn grn_Latn guj_Gujr hat_Latn hau_Latn
    heb_Hebr hin_Deva hne_Deva hrv_Latn hun_Latn hye_Armn ibo_Latn ilo_Latn ind_Latn isl_Latn ita_Latn
    jav_Latn jpn_Jpan kab_Latn kac_Latn kam_Latn kan_Knda kas_Arab kas_Deva kat_Geor knc_Arab knc_Latn
    kaz_Cyrl kbp_Latn kea_Latn khm_Khmr kik_Latn kin_Latn kir_Cyrl kmb_Latn kon_Latn kor_Hang kmr_Latn
    lao_Laoo lvs_Latn lij_Latn lim_Latn lin_Latn lit_Latn lmo_Latn ltg_Latn ltz_Latn lua_Latn lug_Latn
    luo_Latn lus_Latn mag_Deva mai_Deva mal_Mlym mar_Deva min_Latn mkd_Cyrl plt_Latn mlt_Latn mni_Beng
    khk_Cyrl mos_Latn mri_Latn zsm_Latn mya_Mymr nld_Latn nno_Latn nob_Latn npi_Deva nso_Latn nus_Latn
    nya_Latn oci_Latn gaz_Latn ory_Orya pag_Latn pan_Guru pap_Latn pol_Latn por_Latn prs_Arab pbt_Arab
    quy_Latn ron_Latn run_Latn rus_Cyrl sag_Latn san_Deva sat_Beng scn_Latn shn_Mymr sin_Sinh slk_Latn
    slv_Latn smo_Latn sna_Latn snd_Arab som_Latn sot_Latn spa_Latn als_Latn srd_Latn srp_Cyrl ssw_Latn
    sun_Latn swe_Latn swh_Latn szl_Latn tam_Taml tat_Cyrl tel_Telu tgk_Cyrl tgl_Latn tha_Thai tir_Ethi
    taq_Latn taq_Tfng tpi_Latn tsn_Latn tso_Latn tuk_Latn tum_Latn tur_Latn twi_Latn tzm_Tfng uig_Arab
    ukr_Cyrl umb_Latn urd_Arab uzn_Latn vec_Latn vie_Latn war_Latn wol_Latn xho_Latn ydd_Hebr yor_Latn
    yue_Hant zho_Hans zho_Hant zul_Latn
    """.split()  # noqa: SIM905
)
"""The 202 language codes of NLLB-200 (NLLB Team, 2022, table 1; the tokenizer's special tokens)."""

# Codes (as `harness.core.languages` normalises them) whose FLORES language is not their own 639-3 code
# with its only script: macrolanguages mapped to the member NLLB covers, and two-script languages.
EXCEPTIONS = {
    "ar": "arb_Arab",
    "az": "azj_Latn",
    "ay": "ayr_Latn",
    "et": "est_Latn",
    "fa": "pes_Arab",
    "ff": "fuv_Latn",
    "ks": "kas_Arab",
    "kr": "knc_Latn",
    "ku": "kmr_Latn",
    "lv": "lvs_Latn",
    "mg": "plt_Latn",
    "mn": "khk_Cyrl",
    "ms": "zsm_Latn",
    "ne": "npi_Deva",
    "no": "nob_Latn",
    "om": "gaz_Latn",
    "or": "ory_Orya",
    "ps": "pbt_Arab",
    "qu": "quy_Latn",
    "sq": "als_Latn",
    "sw": "swh_Latn",
    "uz": "uzn_Latn",
    "yi": "ydd_Hebr",
    "zh": "zho_Hans",
    "ace": "ace_Latn",
    "bjn": "bjn_Latn",
    "knc": "knc_Latn",
    "taq": "taq_Latn",
}


def flores_code(language: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The FLORES-200 code for an ISO 639 code, or None when NLLB-200 has no such language."""
    if overrides and language in overrides:
        return overrides[language]
    known = lookup_language(language)
    if known is None:
        return None
    if overrides and known.code in overrides:
        return overrides[known.code]
    if known.code in EXCEPTIONS:
        return EXCEPTIONS[known.code]
    entry = pycountry.languages.get(alpha_3=known.code) if len(known.code) == 3 else None
    entry = entry or pycountry.languages.get(alpha_2=known.code)
    if entry is None:
        return None
    candidates = [code for code in FLORES_200 if code.split("_")[0] == entry.alpha_3]
    return candidates[0] if len(candidates) == 1 else None


def require_flores_code(language: str, overrides: Mapping[str, str] | None = None, where: str = "") -> str:
    """Like `flores_code`, but a language NLLB-200 lacks is an error that says how to map it."""
    code = flores_code(language, overrides)
    if code is None:
        raise InputError(
            f"NLLB-200 has no language for {language!r}{where}: map it to one of its FLORES-200 codes "
            f"(e.g. `language_codes: {{{language}: xxx_Latn}}` in the card) or evaluate another language"
        )
    return code
