/**
 * Little-endian byte handling shared by the npy and safetensors readers and
 * writers. Both formats store little-endian data; copying through these
 * helpers keeps values bit-exact (no round trip through a JavaScript number,
 * which could canonicalise NaN payloads) on any host.
 */

/** Whether typed arrays on this host are little-endian (every mainstream one is). */
export const LITTLE_ENDIAN_HOST: boolean = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Reverses the bytes of every `itemSize`-byte element, in place. */
function swapInPlace(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * A fresh, aligned buffer holding `bytes[begin, end)` of little-endian
 * elements in host order, ready to be viewed as a typed array.
 */
export function leToHost(
  bytes: Uint8Array,
  begin: number,
  end: number,
  itemSize: number,
): ArrayBuffer {
  // a copy into a new buffer at offset 0, so any element size is aligned (not bytes.slice:
  // on a Node Buffer that is a view)
  const copy = new Uint8Array(bytes.subarray(begin, end));
  if (!LITTLE_ENDIAN_HOST && itemSize > 1) swapInPlace(copy, itemSize);
  return copy.buffer;
}

/** The bytes of a typed array in little-endian order (a copy). */
export function hostToLe(view: ArrayBufferView, itemSize: number): Uint8Array {
  const copy = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  if (!LITTLE_ENDIAN_HOST && itemSize > 1) swapInPlace(copy, itemSize);
  return copy;
}
