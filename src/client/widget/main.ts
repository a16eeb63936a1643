/** Entry of the widget bundle: mounts the widget once and exposes it as `window.__ColloquyWidget`. */
import { mountWidget, readOptions } from './widget.ts';

const script = document.currentScript as HTMLScriptElement | null;
const mount = () => {
  if (window.__ColloquyWidget) return;
  window.__ColloquyWidget = mountWidget(readOptions(script));
};
if (document.body) mount();
else document.addEventListener('DOMContentLoaded', mount, { once: true });
