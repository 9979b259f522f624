/** `dashboard.enabled`: the automation host serves the page while it runs and stops serving with it. */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runHost } from "../../src/host/host.js";
import { copyWorkspace } from "../helpers/workspace.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("automation host with dashboard.enabled", () => {
  it("serves the snapshot on loopback while the host runs, and closes it on stop", async () => {
    const ws = copyWorkspace();
    try {
      writeFileSync(join(ws, "capp.config.json"), JSON.stringify({ dashboard: { enabled: true, port: 0 } }));
      const ac = new AbortController();
      const host = runHost({ workspace: ws, signal: ac.signal, jobs: [] });
      let url: string | undefined;
      for (let i = 0; i < 100 && !url; i++) {
        await sleep(100);
        try {
          url = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(readFileSync(join(ws, "logs/dashboard.log"), "utf8"))?.[1];
        } catch {
          // not written yet
        }
      }
      expect(url).toBeDefined();
      const r = await fetch(`${url}api/snapshot`);
      expect(r.status).toBe(200);
      const doc = (await r.json()) as { study: { study: string }; workspace: string };
      expect(doc.study.study).toBe("cappuccino_week_20251206");
      expect(doc.workspace).toBe(ws);
      ac.abort();
      await host;
      await expect(fetch(`${url}api/snapshot`)).rejects.toThrow();
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  }, 30_000);
});
