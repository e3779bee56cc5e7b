import { chromium } from '@playwright/test';
import { baseArgs, chromiumPath } from './chromium';
import { expect, test } from './fixture';

test('the studio boots and finds a WebGPU adapter', async ({ page }) => {
  await page.goto('/');
  const status = page.getByTestId('gpu-status');
  // A missing adapter in CI is a failure, never a skip.
  await expect(status).toHaveAttribute('data-state', 'ready');
  await expect(status).toContainText('WebGPU ready');
  await expect(status).toContainText('CPU fallback');
});

test('without WebGPU the studio says which browser and which flag', async ({ baseURL }) => {
  // The same Chromium without --enable-unsafe-webgpu: the CPU adapter is blocklisted, so
  // requestAdapter() returns null — what a user on Linux Chrome without the flag sees.
  const browser = await chromium.launch({ executablePath: chromiumPath, args: baseArgs });
  try {
    const page = await browser.newPage();
    await page.goto(baseURL!);
    const status = page.getByTestId('gpu-status');
    await expect(status).toHaveAttribute('data-state', 'unavailable');
    await expect(status.getByRole('alert')).toContainText(
      /Chrom(e|ium) \d+ has WebGPU but found no GPU adapter/,
    );
    await expect(status.getByRole('alert')).toContainText('--enable-unsafe-webgpu');
  } finally {
    await browser.close();
  }
});
