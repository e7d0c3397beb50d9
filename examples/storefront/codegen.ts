// GraphQL Code Generator: typed documents for every operation of graphql/operations/ (the
// operations the server registers as trusted documents), checked against the server's SDL.
// urql's hooks infer their data and variables types from these documents.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../graphql/schema.graphql',
  documents: '../../graphql/operations/*.graphql',
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', NaiveDate: 'string', Upload: 'File' },
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false },
        useTypeImports: true,
      },
    },
  },
};

export default config;
