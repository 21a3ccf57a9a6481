#!/usr/bin/env python3
"""Tests of the GPU check's own logic (bench/gpu/check.py, bench/gpu/oracle_worker.py) that need
no GPU and no kforge binary: which catalogue entries may run concurrently, what passes, which
seeds Nsight Compute profiles, how its CSV is read, the workspace configuration text, and how the
oracle worker recognises inputs. Run by ctest (gpu_check.logic); standard library only."""

import json
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402
import oracle_worker  # noqa: E402


def safetensors(path, tensors):
    """tensors: name -> (dtype, shape, bytes)."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"seed": "0"}
    encoded = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


class Catalogue(unittest.TestCase):
    def test_only_entries_that_can_reach_timing_are_timed(self):
        self.assertTrue(check.decided_before_timing({"verdict": "incorrect"}))
        self.assertTrue(check.decided_before_timing(
            {"verdict": "launch_error", "alternative_verdicts": ["plan_error"]}))
        self.assertFalse(check.decided_before_timing({"verdict": "correct"}))
        self.assertFalse(check.decided_before_timing({"verdict": "suspicious"}))
        self.assertFalse(check.decided_before_timing(
            {"verdict": "incorrect", "alternative_verdicts": ["suspicious"]}))

    def test_the_real_catalogue_splits_into_both_groups(self):
        entries = {e["file"]: e for e in check.catalogue_entries()}
        self.assertFalse(check.decided_before_timing(entries["honest/relu_grid_stride.cu"]))
        self.assertFalse(check.decided_before_timing(entries["hostile/cache_by_pointer.cu"]))
        self.assertTrue(check.decided_before_timing(entries["hostile/trap.cu"]))
        self.assertTrue(check.decided_before_timing(entries["hostile/infinite_loop.cu"]))

    def test_only_purely_honest_entries_are_timed_beside_others(self):
        self.assertTrue(check.honest_only({"verdict": "correct"}))
        self.assertFalse(check.honest_only({"verdict": "suspicious"}))
        self.assertFalse(check.honest_only(
            {"verdict": "correct", "alternative_verdicts": ["suspicious"]}))

    def test_strict_reasons_and_alternatives(self):
        strict = {"verdict": "incorrect", "reason": "unwritten_output", "strict": True}
        self.assertTrue(check.entry_passes(strict, "incorrect", "unwritten_output"))
        self.assertFalse(check.entry_passes(strict, "incorrect", "mismatch"))
        self.assertFalse(check.entry_passes(strict, "correct", ""))
        loose = {"verdict": "suspicious", "reason": "faster_than_physical_floor",
                 "strict": False, "alternative_verdicts": ["incorrect"]}
        self.assertTrue(check.entry_passes(loose, "incorrect", "mismatch"))
        self.assertFalse(check.entry_passes(loose, None, None))


class NsightCompute(unittest.TestCase):
    def seeds(self):
        times = {"a": 15.0, "b": 40.0, "c": 95.0, "d": 280.0, "e": 1100.0, "f": 4000.0,
                 "g": 9000.0}
        results = [{"name": n, "median_us": t, "kernels_per_iteration": 1, "verdict": "correct"}
                   for n, t in times.items()]
        results.append({"name": "two_kernels", "median_us": 10.0, "kernels_per_iteration": 2,
                        "verdict": "correct"})
        results.append({"name": "wrong", "median_us": 10.0, "kernels_per_iteration": 1,
                        "verdict": "incorrect"})
        return results

    def test_picks_distinct_single_kernel_correct_seeds_across_the_range(self):
        chosen = [r["name"] for r in check.pick_ncu_kernels(self.seeds())]
        self.assertEqual(chosen, ["a", "b", "c", "d", "e", "g"])
        self.assertEqual(check.nearest(self.seeds(), 1000.0)["name"], "e")

    def test_fewer_seeds_than_targets_gives_each_once(self):
        chosen = check.pick_ncu_kernels(self.seeds()[:2])
        self.assertEqual([r["name"] for r in chosen], ["a", "b"])
        self.assertEqual(check.pick_ncu_kernels([]), [])

    def test_reads_the_csv_between_prof_lines_with_its_unit_row(self):
        text = "\n".join([
            "==PROF== Connected to process 123 (/bundle/kforge)",
            '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream",'
            '"Block Size","Grid Size","Device","CC","gpu__time_duration.sum"',
            '"","","","","","","","","","","","nsecond"',
            '"0","123","kforge","h","relu_vec","1","13","(256, 1, 1)","(8192, 1, 1)","0","9.0",'
            '"41,216"',
            '"1","123","kforge","h","relu_vec","1","13","(256, 1, 1)","(64, 1, 1)","0","9.0",'
            '"3,104"',
            "==PROF== Disconnected from process 123"])
        records = check.parse_ncu_csv(text)
        self.assertEqual(len(records), 2)
        self.assertAlmostEqual(records[0]["us"], 41.216)
        self.assertEqual(records[0]["grid"], check.grid_text([8192, 1, 1]))
        self.assertEqual(records[1]["kernel"], "relu_vec")

    def test_other_units_and_missing_metric(self):
        text = '"Kernel Name","gpu__time_duration.sum"\n"","msecond"\n"k","2.5"\n'
        self.assertAlmostEqual(check.parse_ncu_csv(text)[0]["us"], 2500.0)
        self.assertEqual(check.parse_ncu_csv('"Kernel Name","other"\n"k","1"\n'), [])
        self.assertEqual(check.parse_ncu_csv("==ERROR== ERR_NVGPUCTRPERM\n"), [])

    def test_grid_text_pads_to_three_dimensions(self):
        self.assertEqual(check.grid_text([7]), "(7, 1, 1)")
        self.assertEqual(check.grid_text([4, 2, 3]), "(4, 2, 3)")


class Pieces(unittest.TestCase):
    def test_workspace_configuration_text(self):
        text = check.toml_text({"python": "/opt/py 3/python3",
                                "timing": {"baselines": False, "time_cap_ms": 200.0},
                                "verify": {"seeds": 1}})
        self.assertEqual(text, 'python = "/opt/py 3/python3"\n[timing]\nbaselines = false\n'
                               'time_cap_ms = 200.0\n[verify]\nseeds = 1\n')

    def test_cv(self):
        self.assertIsNone(check.cv([5.0]))
        self.assertAlmostEqual(check.cv([9.0, 10.0, 11.0]), 0.1)


class Oracle(unittest.TestCase):
    def test_finds_the_reference_whose_inputs_and_parameters_the_job_holds(self):
        with tempfile.TemporaryDirectory() as root:
            for key, value in (("k1", b"\x01" * 16), ("k2", b"\x02" * 16)):
                folder = os.path.join(root, "run", key)
                os.makedirs(folder)
                safetensors(os.path.join(folder, "inputs.safetensors"),
                            {"x": ("F32", [4], value)})
                safetensors(os.path.join(folder, "parameters.safetensors"),
                            {"weight": ("F32", [2], b"\x00" * 8)})
                safetensors(os.path.join(folder, "outputs.safetensors"),
                            {"out": ("F32", [4], value)})
                with open(os.path.join(folder, "reply.json"), "w") as handle:
                    handle.write("{}")
            job = os.path.join(root, "job.safetensors")
            safetensors(job, {"weight": ("F32", [2], b"\x00" * 8), "x": ("F32", [4], b"\x02" * 16)})
            oracle = oracle_worker.Oracle(root)
            self.assertEqual(oracle.outputs_for(job),
                             os.path.join(root, "run", "k2", "outputs.safetensors"))
            safetensors(job, {"weight": ("F32", [2], b"\x00" * 8), "x": ("F32", [4], b"\x03" * 16)})
            with self.assertRaises(LookupError):
                oracle.outputs_for(job)
            self.assertEqual(oracle_worker.tensor_bytes(job), 24)


if __name__ == "__main__":
    unittest.main()
