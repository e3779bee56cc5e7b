// One state object per key (a prompt run, a token source), made on first use and shared by every
// component that asks for it, so that, e.g., the instruments panel and the head grid's badges read
// the same scores. Keys are held weakly: a disposed prompt takes its state objects with it.

import type { Studio } from './studio.svelte';

export interface OnePer<K extends object, V> {
  /** The key's object, made now if it has none. */
  get(studio: Studio, key: K): V;
  /** Forgets `value` as the key's object (when it is disposed), unless another replaced it. */
  forget(key: K, value: V): void;
}

export function onePer<K extends object, V>(make: (studio: Studio, key: K) => V): OnePer<K, V> {
  const instances = new WeakMap<K, V>();
  return {
    get(studio, key) {
      let value = instances.get(key);
      if (value === undefined) {
        value = make(studio, key);
        instances.set(key, value);
      }
      return value;
    },
    forget(key, value) {
      if (instances.get(key) === value) instances.delete(key);
    },
  };
}
