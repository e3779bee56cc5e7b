// Live GPU buffers and textures, for the leak checks of the e2e tests (on `__strataDebug`, see
// ../debug.ts): the studio's device counts what it creates and what is destroyed, whoever (engine,
// sessions, renderers, instruments) creates it. Also the debug hook that loses the device on
// purpose (GPUDevice.destroy(), as a driver reset would), to test recovery.

import { debugCounters } from '../debug';

/** Counts `device`'s buffers and textures from now on into debugCounters.live. */
export function countGpuObjects(device: GPUDevice): void {
  const live = debugCounters.live;
  const counted = <T extends { destroy(): void }>(object: T, kind: 'buffers' | 'textures'): T => {
    live[kind]++;
    const destroy = object.destroy.bind(object);
    let destroyed = false;
    object.destroy = () => {
      if (!destroyed) live[kind]--;
      destroyed = true;
      destroy();
    };
    return object;
  };
  const createBuffer = device.createBuffer.bind(device);
  const createTexture = device.createTexture.bind(device);
  device.createBuffer = (descriptor) => counted(createBuffer(descriptor), 'buffers');
  device.createTexture = (descriptor) => counted(createTexture(descriptor), 'textures');
  debugCounters.loseDevice = () => device.destroy();
}
