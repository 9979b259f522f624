/**
 * GPU health through systeminformation (NVIDIA via nvidia-smi) with a Linux DRM sysfs fallback
 * (AMD amdgpu: hwmon temperature, gpu_busy_percent), replacing the seed's nvidia-smi-only probe that
 * always failed on the later AMD machine (F-25). A machine without a readable GPU is
 * `not_present`, never a failure.
 *
 * Thresholds (original-system.md §2.2): warn when temperature > 80 °C, fail when > 85 °C.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HealthCheck } from "./types.js";
import { thresholdStatus } from "./types.js";

/** One GPU as read from the probe. Absent readings are `null`. */
export interface GpuReading {
  model: string;
  vendor: string;
  /** Core temperature, °C. */
  temperatureC: number | null;
  /** Utilisation, percent (0–100). */
  utilizationPct: number | null;
  /** Memory in use / total, MiB. */
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
}

/** Reads the GPUs of this machine; injectable so tests and other hosts can supply readings. */
export type GpuProbe = () => Promise<GpuReading[]>;

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

const readNum = (path: string): number | null => {
  try {
    const v = Number(readFileSync(path, "utf8").trim());
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
};

/**
 * GPUs exposed by the Linux DRM sysfs (the amdgpu driver, where systeminformation — which reads
 * NVIDIA through nvidia-smi — has no sensors): per `card<N>/device`, temperature from
 * `hwmon/hwmon*\/temp1_input` (millidegrees C), utilisation from `gpu_busy_percent`, memory from
 * `mem_info_vram_used`/`mem_info_vram_total` (bytes). Cards without either reading are left out.
 * @param root the DRM class folder (default `/sys/class/drm`; injectable for tests).
 */
export function sysfsGpuReadings(root = "/sys/class/drm"): GpuReading[] {
  let cards: string[];
  try {
    cards = readdirSync(root).filter((c) => /^card\d+$/.test(c));
  } catch {
    return [];
  }
  const out: GpuReading[] = [];
  for (const card of cards.sort()) {
    const dev = join(root, card, "device");
    let temperatureC: number | null = null;
    try {
      for (const h of readdirSync(join(dev, "hwmon"))) {
        const t = readNum(join(dev, "hwmon", h, "temp1_input"));
        if (t !== null) {
          temperatureC = t / 1000;
          break;
        }
      }
    } catch {
      /* no hwmon */
    }
    const utilizationPct = readNum(join(dev, "gpu_busy_percent"));
    if (temperatureC === null && utilizationPct === null) continue;
    const used = readNum(join(dev, "mem_info_vram_used"));
    const total = readNum(join(dev, "mem_info_vram_total"));
    const vendorId = (() => {
      try {
        return readFileSync(join(dev, "vendor"), "utf8").trim();
      } catch {
        return "";
      }
    })();
    out.push({
      model: card,
      vendor: vendorId === "0x1002" ? "AMD" : vendorId || "unknown",
      temperatureC,
      utilizationPct,
      memoryUsedMb: used === null ? null : used / 2 ** 20,
      memoryTotalMb: total === null ? null : total / 2 ** 20,
    });
  }
  return out;
}

/**
 * Default probe: `systeminformation.graphics()` controllers that report a temperature or a
 * utilisation (plain display adapters without sensors are left out); when none does, the DRM
 * sysfs readings (AMD). Never throws: a probe error reads as "no GPU".
 */
export const systemGpuProbe: GpuProbe = async () => {
  let found: GpuReading[] = [];
  try {
    const si = await import("systeminformation");
    const g = await si.default.graphics();
    found = g.controllers
      .map((c) => ({
        model: c.model || c.name || "GPU",
        vendor: c.vendor || "unknown",
        temperatureC: num(c.temperatureGpu),
        utilizationPct: num(c.utilizationGpu),
        memoryUsedMb: num(c.memoryUsed),
        memoryTotalMb: num(c.memoryTotal),
      }))
      .filter((r) => r.temperatureC !== null || r.utilizationPct !== null);
  } catch {
    found = [];
  }
  return found.length ? found : sysfsGpuReadings();
};

/**
 * Check every readable GPU; the hottest decides the status.
 * @param opts warnC / failC in °C (defaults 80 / 85); probe (default systeminformation).
 * @returns `not_present` when no GPU reports a reading; `data.gpus` holds every reading.
 */
export async function checkGpu(opts: { warnC?: number; failC?: number; probe?: GpuProbe } = {}): Promise<HealthCheck> {
  const warnC = opts.warnC ?? 80;
  const failC = opts.failC ?? 85;
  const gpus = await (opts.probe ?? systemGpuProbe)();
  if (gpus.length === 0) {
    return {
      name: "gpu",
      status: "not_present",
      detail: "no GPU with a temperature or utilisation reading",
      data: { gpus },
    };
  }
  const temps = gpus.map((g) => g.temperatureC).filter((t): t is number => t !== null);
  const hottest = temps.length ? Math.max(...temps) : null;
  const status = hottest === null ? "ok" : thresholdStatus(hottest, warnC, failC);
  const parts = gpus.map(
    (g, i) =>
      `#${i} ${g.model}: ${g.temperatureC === null ? "? °C" : `${g.temperatureC} °C`}, ${g.utilizationPct === null ? "? %" : `${g.utilizationPct} %`} busy`,
  );
  const limit = status === "fail" ? ` (over ${failC} °C)` : status === "warn" ? ` (over ${warnC} °C)` : "";
  return {
    name: "gpu",
    status,
    detail: `${parts.join("; ")}${limit}`,
    data: { gpus, hottestC: hottest, warnC, failC },
  };
}
