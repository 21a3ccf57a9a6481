"""Loads kforge's dataset exports as their users do, with Hugging Face `datasets` and TRL.

    load_exports.py <folder>    (one subfolder per format: sft, messages, trajectories, dpo,
                                 archive, kernelbench, each written by `kforge dataset export`)

Every format is loaded the ways docs/dataset-formats.md and the dataset card say:
`load_dataset(DIR)` (the card's YAML front matter names the split files that have rows) and,
where all three splits have rows, `load_dataset("json", data_dir=DIR)` (not for kernelbench); each must give the
splits with as many rows as the JSON lines files hold. The SFT, messages, trajectories and DPO files then go through TRL's own
dataset helpers (trl.data_utils), which is what its trainers run on a dataset first: the
conversational check, the chat template (with a small tokenizer built here, nothing
downloaded), prompt extraction and unpairing of preference rows. Prints one line per format;
any mismatch raises, so the exit status says whether everything loaded.
"""

import json
import pathlib
import sys

import datasets
from datasets import load_dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from trl.data_utils import (apply_chat_template, is_conversational, maybe_apply_chat_template,
                            maybe_extract_prompt, unpair_preference_dataset)

SPLITS = ("train", "validation", "test")
LOADED_BY_DATA_DIR = []


def tokenizer():
    """A word-level tokenizer with a chat template: enough for TRL's templating helpers."""
    model = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    model.pre_tokenizer = pre_tokenizers.Whitespace()
    result = PreTrainedTokenizerFast(tokenizer_object=model, unk_token="[UNK]")
    result.chat_template = (
        "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
        "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
    return result


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def line_counts(folder):
    return {split: len((folder / (split + ".jsonl")).read_text(encoding="utf-8").splitlines())
            for split in SPLITS}


def load_both_ways(folder):
    """The dataset as the card's configs give it (the splits with rows), checked against the
    files themselves and, where every split has rows, against loading by data_dir (which infers
    the splits from the file and folder names; `datasets` refuses an empty split file)."""
    counts = line_counts(folder)
    loaded = [(load_dataset(str(folder)), "load_dataset(DIR)")]
    # kernelbench's modules/<split>/ folders would be taken for split files by data_dir.
    if all(counts.values()) and folder.name != "kernelbench":
        loaded.append((load_dataset("json", data_dir=str(folder)), "load_dataset('json')"))
        LOADED_BY_DATA_DIR.append(folder.name)
    for dataset, how in loaded:
        expect(set(dataset) == {split for split in SPLITS if counts[split]},
               "%s: %s gives splits %s for files with %s rows" % (folder.name, how,
                                                                  sorted(dataset), counts))
        for split in dataset:
            expect(dataset[split].num_rows == counts[split],
                   "%s %s: %s gives %d rows, the file has %d"
                   % (folder.name, split, how, dataset[split].num_rows, counts[split]))
    return loaded[0][0]


def rows(dataset):
    return [row for split in SPLITS if split in dataset for row in dataset[split]]


def check_sft(dataset, tok):
    expect({"prompt", "completion", "metadata"} <= set(dataset["train"].column_names),
           "sft columns: %s" % dataset["train"].column_names)
    for row in rows(dataset):
        # TRL's prompt-completion form (not conversational): templating leaves it as it is.
        expect(not is_conversational(row), "an sft row is not conversational")
        templated = maybe_apply_chat_template({"prompt": row["prompt"],
                                               "completion": row["completion"]}, tok)
        expect(templated["prompt"] == row["prompt"], "sft: the prompt survives TRL's helper")
        expect("__global__" in templated["completion"], "sft: the completion is a kernel")


def check_conversations(dataset, tok, name):
    expect("messages" in dataset["train"].column_names, name + ": no messages column")
    for row in rows(dataset):
        expect(is_conversational(row), name + ": TRL does not see a conversation")
        text = apply_chat_template({"messages": row["messages"]}, tok)["text"]
        for message in row["messages"]:
            expect("<|%s|>\n%s" % (message["role"], message["content"]) in text,
                   name + ": a message is missing from the templated text")


def check_dpo(dataset):
    train = dataset["train"]
    expect({"prompt", "chosen", "rejected"} <= set(train.column_names),
           "dpo columns: %s" % train.column_names)
    for row in rows(dataset):
        expect(not is_conversational(row), "a dpo row is a standard preference row")
        extracted = maybe_extract_prompt({key: row[key] for key in ("prompt", "chosen",
                                                                    "rejected")})
        expect(extracted["prompt"] == row["prompt"], "dpo: TRL keeps the explicit prompt")
        expect(row["chosen"] != row["rejected"], "dpo: chosen and rejected differ")
    all_rows = datasets.concatenate_datasets([dataset[split] for split in SPLITS
                                              if split in dataset])
    unpaired = unpair_preference_dataset(all_rows.select_columns(["prompt", "chosen",
                                                                  "rejected"]))
    expect(set(unpaired.column_names) == {"prompt", "completion", "label"},
           "dpo unpaired columns: %s" % unpaired.column_names)
    expect(unpaired.num_rows == 2 * all_rows.num_rows, "dpo: unpairing gives two rows a pair")
    expect(sum(unpaired["label"]) == all_rows.num_rows, "dpo: one chosen per pair")


def main():
    root = pathlib.Path(sys.argv[1])
    tok = tokenizer()
    summary = {}
    for name in ("sft", "messages", "trajectories", "dpo", "archive", "kernelbench"):
        dataset = load_both_ways(root / name)
        total = sum(dataset[split].num_rows for split in SPLITS if split in dataset)
        expect(total > 0, name + ": no rows")
        if name == "sft":
            check_sft(dataset, tok)
        elif name in ("messages", "trajectories"):
            check_conversations(dataset, tok, name)
        elif name == "dpo":
            check_dpo(dataset)
        summary[name] = total
        print("%s: %d rows, columns %s" % (name, total, ",".join(dataset["train"].column_names)
                                           if "train" in dataset else "-"))
    summary["loaded_by_data_dir"] = LOADED_BY_DATA_DIR
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
