import type { Settings } from "../config";
import type { Principal } from "../auth/principal";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    settings: Settings;
    principal: Principal;
  };
};
