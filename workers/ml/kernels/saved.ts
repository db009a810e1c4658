/**
 * What a custom op keeps for its gradient. tfjs's customGrad `save` clones every tensor it is given (an
 * Identity kernel and a tape entry each, about forty a teacher step for the weights alone); a variable
 * outlives the step, so it is kept by reference and only the other tensors are saved.
 */
import * as tf from "@tensorflow/tfjs";

/** Saves `tensors` but the variables; the function returned gets `saved` back as the whole list, in order. */
export function saveForGradient(save: tf.GradSaveFunc, tensors: tf.Tensor[]): (saved: tf.Tensor[]) => tf.Tensor[] {
  const variable = tensors.map((t) => t instanceof tf.Variable);
  save(tensors.filter((_, i) => !variable[i]));
  return (saved) => {
    let next = 0;
    return tensors.map((t, i) => (variable[i] ? t : saved[next++]!));
  };
}
