// Starts the vendored Swagger UI on /openapi.json (a file, not an inline script, for the strict CSP).
(() => {
  const root = document.getElementById("swagger-ui");
  if (typeof window.SwaggerUIBundle !== "function") {
    root.textContent = "";
    const p = document.createElement("p");
    p.className = "docs-loading";
    p.append("The interactive reference is not built (run npm run build:web). The API description is at ");
    const a = document.createElement("a");
    a.href = "/openapi.json";
    a.textContent = "/openapi.json";
    p.append(a, ".");
    root.append(p);
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    filter: true,
    persistAuthorization: false,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    // Never phone home: the validator badge would call validator.swagger.io.
    validatorUrl: null,
    syntaxHighlight: { activated: true, theme: "agate" },
  });
})();
