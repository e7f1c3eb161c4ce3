// Checks software-catalog entities the way Backstage's catalog does when it reads a
// catalog-info.yaml: its entity policies, then the validator of the entity's kind,
// from Backstage's own @backstage/catalog-model (installed by `make backstage`).
//
//   node tools/catalog_check.cjs < entities.json
//
// stdin: a JSON array of entities. Prints one line per problem; exits 1 if any.
"use strict";

const path = require("node:path");
const model = require(
  path.join(__dirname, "..", ".npm-tools", "node_modules", "@backstage", "catalog-model"),
);

const policies = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);
const kinds = [
  model.apiEntityV1alpha1Validator,
  model.componentEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator,
  model.resourceEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator,
  model.userEntityV1alpha1Validator,
];

async function problemsOf(entity) {
  const name = `${entity.kind}:${entity.metadata && entity.metadata.name}`;
  try {
    const checked = await policies.enforce(entity);
    for (const kind of kinds) {
      // true: this validator's kind, and valid; it throws when invalid.
      if (await kind.check(checked)) {
        return [];
      }
    }
    return [`${name}: no kind of the catalog model is ${entity.apiVersion} ${entity.kind}`];
  } catch (error) {
    return [`${name}: ${error.message}`];
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const entities = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const problems = (await Promise.all(entities.map(problemsOf))).flat();
  for (const problem of problems) {
    console.log(problem);
  }
  process.exitCode = problems.length ? 1 : 0;
}

main();
