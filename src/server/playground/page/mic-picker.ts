/**
 * The microphone picker: lists the audio inputs (names appear once the browser granted the
 * microphone) and remembers the choice, which applies at once when connected or at the next connect.
 */
export interface DevicesPicker {
  /** The chosen device id ('' for the default). */
  readonly preferred: string;
  refresh(list: () => Promise<MediaDeviceInfo[]>): Promise<void>;
  select(deviceId: string): void;
}

export function devicesPicker(
  select: HTMLSelectElement,
  onChange: (deviceId: string) => void,
): DevicesPicker {
  let preferred = '';
  select.addEventListener('change', () => {
    preferred = select.value;
    onChange(preferred);
  });
  return {
    get preferred() {
      return preferred;
    },
    async refresh(list) {
      const devices = (await list().catch(() => [])).filter((d) => d.kind === 'audioinput' && d.deviceId);
      const options = [new Option('Default microphone', '')];
      devices.forEach((d, i) => {
        if (d.deviceId !== 'default') options.push(new Option(d.label || `Microphone ${i + 1}`, d.deviceId));
      });
      select.replaceChildren(...options);
      select.value = options.some((o) => o.value === preferred) ? preferred : '';
    },
    select(deviceId) {
      if (Array.from(select.options).some((o) => o.value === deviceId)) select.value = deviceId;
    },
  };
}
