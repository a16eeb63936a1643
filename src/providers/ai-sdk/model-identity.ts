/** Provider and model id of an AI SDK model given as an object or as a gateway model string. */
export function modelIdentity(model: string | { provider: string; modelId: string }): {
  provider: string;
  modelId: string;
} {
  return typeof model === 'string'
    ? { provider: 'gateway', modelId: model }
    : { provider: model.provider, modelId: model.modelId };
}
